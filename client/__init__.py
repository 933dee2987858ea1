"""Client side of the course module: talking to a served ResNet50 and making sense of its answers."""
