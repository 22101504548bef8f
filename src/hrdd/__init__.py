"""hrdd: human-rights due diligence for investors in surveillance-technology companies."""

__version__ = "0.1.0"
