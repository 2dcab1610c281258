"""Entry point for both `pyinit` and `python -m pyinit`.

Only `signal` may be imported before the handled signals are blocked: a SIGTERM that reaches a
Python PID 1 before that is dropped by the kernel (PID 1 has no default actions), and every import
widens the window.
"""

from pyinit import signals


def main() -> None:
    signals.block_handled()
    from pyinit.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
