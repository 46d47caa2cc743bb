"""Speaking-behavior profile: pitch, speaking rate and spectral statistics, and their match."""

from voxguard.behavior.profile import BehaviorProfile, compare_profiles, extract_profile

__all__ = ["BehaviorProfile", "compare_profiles", "extract_profile"]
