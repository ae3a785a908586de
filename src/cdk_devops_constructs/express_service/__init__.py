"""ExpressService: the service kind on Amazon ECS Express Mode."""

from .service import ExpressService

__all__ = ["ExpressService"]
