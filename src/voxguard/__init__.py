"""VoxGuard: who is speaking, and is it a live human?"""

__version__ = "0.1.0"
