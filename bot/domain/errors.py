"""Errors a person can read. Every message names the problem and the fix."""


class DeskError(Exception):
    """Base for refusals shown to the person who asked (never a traceback)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnknownTicket(DeskError):
    def __init__(self, number: int) -> None:
        super().__init__(f"There is no ticket #{number}. Try `/ticket list` to see open tickets.")


class CommandError(DeskError):
    """Malformed command: missing argument, bad value, unknown subcommand."""


class PermissionDenied(DeskError):
    pass


class IllegalTransition(DeskError):
    pass


class LimitReached(DeskError):
    pass
