"""Pure config editors, text in -> text out: containerd, docker, CRI-O; the `runtime configure` front."""
