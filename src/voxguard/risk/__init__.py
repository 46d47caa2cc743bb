"""Risk fusion: voice match, behavior, spoof probability and quality -> one verdict."""

from voxguard.risk.engine import RiskAssessment, RiskInputs, RiskLevel, RiskPolicy, Verdict, assess

__all__ = ["RiskAssessment", "RiskInputs", "RiskLevel", "RiskPolicy", "Verdict", "assess"]
