"""InkWatch: pigment and ink safety-alert monitor."""

__version__ = "0.1.0"
