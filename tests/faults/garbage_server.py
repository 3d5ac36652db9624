"""Not an MCP server: writes text lines to stdout and never answers (standard library only, so
it is talking within milliseconds of its start).

Example:
    {"command": "python", "args": ["tests/faults/garbage_server.py"]}
"""

import sys


def main():
    print("Hello! I am not an MCP server.", flush=True)
    for line in sys.stdin:
        print(f"garbage in reply to {len(line)} bytes", flush=True)


if __name__ == "__main__":
    main()
