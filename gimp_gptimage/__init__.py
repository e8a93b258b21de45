"""gimp-gptimage: edit images in GIMP 3 with OpenAI-compatible image models."""

__version__ = "0.1.0"
