"""ObservedService and its deployment strategies."""

from .deployment import Deployment
from .service import ObservedService

__all__ = ["Deployment", "ObservedService"]
