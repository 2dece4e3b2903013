"""NVML: the sampler, process calls, problems, the fake binding and its motion, history, JSON."""
