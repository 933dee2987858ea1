"""The sandbox boundary, seen from the host: bubblewrap launches with their mounts and limits, the control groups
and seccomp filter they run under, the entry that joins them, and the probe of what a sandbox allows."""
