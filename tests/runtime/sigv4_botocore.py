"""Prints the SigV4 Authorization header botocore computes for a request.

An independent implementation for the runtime's aws_sigv4 tests: the Rust side sends a request
through Riposte, the loopback server hands what it received to this script, and the header
printed here must match the one Riposte sent byte for byte.

Input (JSON on stdin): method, url, headers ({name: value}, the ones the client meant to sign,
without host, authorization, x-amz-date, x-amz-security-token), body_b64, region, service,
access_key_id, secret_access_key, session_token (or null), amz_date ("YYYYMMDDTHHMMSSZ").
With service "s3", botocore's S3 signer (no path normalisation, x-amz-content-sha256) is used.
Output: the Authorization header value on one line.
"""

import base64
import datetime
import json
import sys

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def main() -> None:
    spec = json.load(sys.stdin)
    when = datetime.datetime.strptime(spec["amz_date"], "%Y%m%dT%H%M%SZ")
    # botocore signs "now"; sign at the request's own time instead.
    botocore.auth.get_current_datetime = lambda: when
    request = AWSRequest(
        method=spec["method"],
        url=spec["url"],
        headers=spec["headers"],
        data=base64.b64decode(spec["body_b64"]),
    )
    credentials = Credentials(
        spec["access_key_id"], spec["secret_access_key"], spec.get("session_token")
    )
    signer = botocore.auth.S3SigV4Auth if spec["service"] == "s3" else botocore.auth.SigV4Auth
    signer(credentials, spec["service"], spec["region"]).add_auth(request)
    print(request.headers["Authorization"])


if __name__ == "__main__":
    main()
