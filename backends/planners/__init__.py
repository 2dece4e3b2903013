"""Facts + choices -> Steps, one module per layer (and per package manager where they differ)."""
