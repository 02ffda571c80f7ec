"""The program manager console: server-rendered pages mounted on the service at ``/console``.

Sign in with a manager or admin token; review influencer candidates, read program
analytics, earned media value and attribution, the fairness report, preview feeds with
the ranking policy's explanations, and the models' status. Pages read through the same
functions as the CLI and the API (:class:`serving.runtime.Runtime`).
"""

from serving.console.app import MOUNT, MountedConsole, console_app

__all__ = ["MOUNT", "MountedConsole", "console_app"]
