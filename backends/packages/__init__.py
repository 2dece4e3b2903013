"""Package sources and signed repositories: apt, dnf, NVIDIA's and Docker's repositories, OpenPGP."""
