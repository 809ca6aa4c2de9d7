"""Validates a Hawk Authorization header with mohawk's Receiver.

An independent implementation for the runtime's hawk tests. Input (JSON on stdin): header (the
Authorization value), url, method, body_b64, content_type ("" for no body), id, key, algorithm.
Prints "ok" and exits 0 when mohawk accepts the header, else prints the reason and exits 1.
"""

import base64
import json
import sys

import mohawk


def main() -> None:
    spec = json.load(sys.stdin)
    credentials = {"id": spec["id"], "key": spec["key"], "algorithm": spec["algorithm"]}

    def lookup(sender_id):
        if sender_id != credentials["id"]:
            raise LookupError(sender_id)
        return credentials

    try:
        mohawk.Receiver(
            lookup,
            spec["header"],
            spec["url"],
            spec["method"],
            content=base64.b64decode(spec["body_b64"]),
            content_type=spec["content_type"],
        )
    except mohawk.exc.HawkFail as err:
        print(f"rejected: {type(err).__name__}: {err}")
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()
