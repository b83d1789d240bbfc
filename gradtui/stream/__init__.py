"""The classroom stream: what a lab publishes and its followers read (stdlib and NumPy only)."""
