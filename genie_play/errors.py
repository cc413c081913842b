"""The one error type for failures the user can fix (bad file, bad flag, missing device).

The CLI prints a GenieError as one line and exits with code 2; any other exception is a bug
and keeps its traceback.
"""

EXIT_USER_ERROR = 2
# The command did its work but skipped inputs it could not read, each named on its own line
# (`data import` of a folder with some bad files); scripts can tell it from complete success.
EXIT_SOME_SKIPPED = 1


class GenieError(Exception):
    """A user-facing failure, printed as a single line without a traceback."""

    def __init__(self, message: str):
        # Messages often embed text from outside (file contents, OS errors); keep them to one line.
        super().__init__(" ".join(str(message).split()))


def file_error(path, problem: str) -> GenieError:
    """A GenieError that names the file first: `path: problem`."""
    return GenieError(f"{path}: {problem}")
