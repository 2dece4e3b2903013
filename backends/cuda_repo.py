"""NVIDIA's CUDA repository as a driver source (filled in below)."""
