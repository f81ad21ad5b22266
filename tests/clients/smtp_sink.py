"""An SMTP server for the tests, from PyPI's aiosmtpd: listens on 127.0.0.1 at the port given,
prints {"ready": port} once it accepts, then each message it receives as one JSON line, until
its standard input closes."""
import json
import sys

from aiosmtpd.controller import Controller


class Sink:
    async def handle_DATA(self, server, session, envelope):
        print(
            json.dumps(
                {
                    "from": envelope.mail_from,
                    "to": envelope.rcpt_tos,
                    "data": envelope.content.decode("utf-8", "replace"),
                }
            ),
            flush=True,
        )
        return "250 OK"


port = int(sys.argv[1])
controller = Controller(Sink(), hostname="127.0.0.1", port=port)
controller.start()
print(json.dumps({"ready": port}), flush=True)
sys.stdin.read()
controller.stop()
