"""Reading GPU series back from a Prometheus server (the monitor's cluster view)."""
