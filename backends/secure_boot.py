"""Secure Boot and DKMS: the machine-owner key (MOK) that signs the modules DKMS builds must be enrolled.

`mokutil --import` only queues the key and asks for a one-time password; at the next boot shim's
blue MOK manager asks to "Enroll MOK" and for that password. Without it the firmware refuses the
module ("Key was rejected by service"). The key is DKMS's own: Ubuntu's dkms signs with
shim-signed's key, Debian's and RHEL's dkms (3.x) with /var/lib/dkms/mok.pub, made at the first build.
"""

from __future__ import annotations

from gpuwiz.backends.facts import HardwareFacts
from gpuwiz.backends.findings import Layer
from gpuwiz.backends.runs.plan import Step

UBUNTU_MOK = "/var/lib/shim-signed/mok/MOK.der"
DKMS_MOK = "/var/lib/dkms/mok.pub"


def mok_path(hw: HardwareFacts) -> str:
    return UBUNTU_MOK if hw.os and hw.os.id == "ubuntu" else DKMS_MOK


def enroll_step(path: str) -> Step:
    return Step(
        "driver.enroll-mok",
        "Queue DKMS's signing key for enrolment at the next boot",
        Layer.DRIVER,
        argv=("mokutil", "--import", path),
        interactive=True,
        verifies=("driver.secure-boot-key",),
        why="Secure Boot is on. Choose a one-time password now; at the next boot the blue MOK manager asks: "
        "pick 'Enroll MOK', 'Continue', 'Yes' and type that password. Otherwise the firmware refuses the module.",
    )


def mok_steps(hw: HardwareFacts) -> list[Step]:
    """The enrolment step after a DKMS install, when Secure Boot is on."""
    return [enroll_step(mok_path(hw))] if hw.secure_boot else []
