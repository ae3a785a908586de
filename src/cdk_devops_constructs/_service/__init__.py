"""What every service kind shares: task, alarms, health signal, dashboard, and the contract's
implementation (``base.ServiceBase``)."""
