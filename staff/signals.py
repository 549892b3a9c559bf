"""Every back-office user has an employee profile (the subject of "Gestion RGPD Utilisateurs")."""

from django.conf import settings
from django.db.models.signals import post_save
from django.dispatch import receiver

from .models import EmployeeProfile


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="staff_profile_for_new_user")
def profile_for_new_user(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    if created and not raw:
        EmployeeProfile.objects.get_or_create(user=instance)
