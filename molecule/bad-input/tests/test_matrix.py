"""Issue 7's bad-input matrix on the lab: one test per row of matrix.yml (see its header).

Rows run grouped by precondition, in badinput.GIVENS order, so each precondition is set up
once. Every row must be refused with OUR message and leave the swarm exactly as it was. The
last tests check that the locked scratch swarm came back unchanged once unlocked, and put the
lab back: both stopped engines started, no foreign lock, nothing drained, services converged.
Per-row output: $MOLECULE_EPHEMERAL_DIRECTORY/bad-input/<row id>.log.
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from badinput import (  # noqa: E402 pylint: disable=wrong-import-position
    Lab,
    PreconditionFailed,
    comparable,
    differences,
    load_matrix,
    matrix_problems,
    ordered,
)

ROWS = ordered(load_matrix())


@pytest.fixture(scope="session")
def lab():
    lab = Lab()
    yield lab
    # Whatever happened (a failure, a -k selection): leave the lab as converge made it.
    try:
        lab.restore()
    except PreconditionFailed as exc:
        sys.stderr.write("could not put the lab back: %s\n" % exc)


def test_matrix_is_well_formed():
    assert matrix_problems(load_matrix()) == []


@pytest.mark.parametrize("row", ROWS, ids=[row["id"] for row in ROWS])
def test_row(lab, row):
    problems, gap_problems = lab.run_row(row)
    assert not problems, "%s (given %s):\n  - %s" % (row["id"], row["given"], "\n  - ".join(problems))
    if gap_problems:
        pytest.xfail("known gap: %s\n  - %s" % (row["gap"], "\n  - ".join(gap_problems)))


def test_no_row_changed_the_swarm_after_it_ended(lab):
    # Each row's after-snapshot was read again at the next row's start (same precondition): a
    # difference is a late side effect of the earlier row.
    assert not lab.late, "rows whose run changed the swarm after it ended:\n" + "\n".join(
        "  %s: %s" % (row, "; ".join(lines)) for row, lines in sorted(lab.late.items()))


def test_locked_scratch_came_back_unchanged(lab):
    if lab.current == "scratch_locked":
        lab.enter("scratch")
    # The matrix has scratch_locked rows (test_matrix_is_well_formed runs them all): one of
    # them must have locked the scratch swarm, and unlocking must have given it back as it was.
    assert lab.scratch_unlock_differences is not None, "no scratch_locked row ran before this check"
    assert lab.scratch_unlock_differences == []


def test_lab_is_back(lab):
    lab.restore()
    assert lab.first_healthy is not None, "no row ran on the healthy swarm before this check"
    now = lab.snapshot(lab.m1)
    assert lab.healthy(now)
    # Engines restarted by manager_down rewrite their nodes (status), and the lock was taken and
    # released: compare without versions.
    assert differences(comparable(lab.first_healthy["main"], versions=False), comparable(now, versions=False)) == []
