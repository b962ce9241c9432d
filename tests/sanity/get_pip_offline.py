"""Stand-in for the get-pip bootstrap script that ansible-test downloads.

ansible-test fetches get-pip.py from a host that this CI cannot reach, and runs pip with
PIP_CONFIG_FILE=/dev/null and a reduced environment, so the machine's pip settings (its CA
bundle for the package index) are not seen. scripts/test.sh stores this file under the
bootstrap script's name in ansible-test's cache. It installs pip into the fresh virtual
environment from the wheel bundled with Python (ensurepip), makes that pip trust the
system CA bundle, then installs the pinned packages ansible-test asked for, as get-pip.py
would.
"""
import ensurepip
import glob
import os
import subprocess
import sys

GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}
SYSTEM_CA = os.environ.get("SWARMOPS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")


def trust_system_ca():
    """Append the system CA bundle to the CA file that pip's vendored certifi uses."""
    if not os.path.exists(SYSTEM_CA):
        return
    with open(SYSTEM_CA) as handle:
        system = handle.read()
    pattern = os.path.join(sys.prefix, "lib", "python*", "site-packages", "pip", "_vendor", "certifi", "cacert.pem")
    for bundle in glob.glob(pattern):
        with open(bundle) as handle:
            if system in handle.read():
                continue
        with open(bundle, "a") as handle:
            handle.write("\n" + system)


ensurepip.bootstrap(upgrade=True)
trust_system_ca()
args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
status = subprocess.call([sys.executable, "-m", "pip", "install", "--upgrade"] + args)
trust_system_ca()
sys.exit(status)
