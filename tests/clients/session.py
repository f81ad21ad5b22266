"""Signs in to a running Watershed as the admin and makes JSON calls with the session."""
import http.cookiejar
import json
import re
import urllib.request
from urllib.parse import urlencode


class Session:
    def __init__(self, base, admin_password):
        self.base = base
        self.web = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        # Through the console's own sign-in form, as a person would.
        page = self.web.open(base + "/login").read().decode()
        action = re.search(r'<form[^>]*action="([^"]+)"', page).group(1)
        self.web.open(urllib.request.Request(
            base + action, method="POST",
            data=urlencode({"username": "admin", "password": admin_password}).encode(),
            headers={"accept": "text/html", "origin": base}))

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        # A browser names the page's site as the Origin of what it sends; the server refuses
        # cookie-authenticated changes from anywhere else.
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"content-type": "application/json",
                                              "origin": self.base})
        with self.web.open(req) as r:
            return json.loads(r.read() or b"null")

    def token(self, name):
        """A personal API token, for clients that send `Authorization: Bearer`."""
        return self.call("POST", "/api/v1/tokens", {"name": name})["token"]
