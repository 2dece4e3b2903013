"""Prometheus exporter: the monitor's NVML sampler behind /metrics, under dcgm-exporter's names."""
