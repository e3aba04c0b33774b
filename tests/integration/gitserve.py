"""gitserve - real git servers on loopback for the config repository's
remote tests (Python 3 stdlib, openssl, git and, for ssh, Debian's
openssh-server).

  pki(t)             a test CA and a server certificate for 127.0.0.1
                     (openssl, in the test's directory)
  https_git(t, ...)  a threaded HTTPS server on 127.0.0.1 that asks for
                     HTTP basic auth and runs git's own smart-HTTP server,
                     /usr/lib/git-core/git-http-backend, as a CGI per
                     request; stopped in the test's cleanup
  sshd(t, ...)       a private sshd on a free loopback port with its own
                     config, host key and authorized_keys, as a Proc
                     (stopped by its PID with the test's processes)
"""
import base64
import os
import pwd
import shutil
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from mtest import Proc, check, free_port, skip, wait_until

BACKEND = "/usr/lib/git-core/git-http-backend"
SSHD = "/usr/sbin/sshd"


def run(*argv, cwd=None):
    r = subprocess.run(list(argv), cwd=cwd, capture_output=True, text=True)
    check(r.returncode == 0, "%s: %s" % (" ".join(argv), r.stderr))
    return r.stdout


def pki(t):
    """(ca.pem, cert.pem, key.pem) for a server on 127.0.0.1, signed by a
    CA made here."""
    d = t.mkdir("pki")
    p = lambda n: os.path.join(d, n)  # noqa: E731
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
        "ec_paramgen_curve:P-256", "-nodes", "-keyout", p("ca.key"), "-out",
        p("ca.pem"), "-days", "2", "-subj", "/CN=maestro test CA")
    run("openssl", "req", "-newkey", "ec", "-pkeyopt",
        "ec_paramgen_curve:P-256", "-nodes", "-keyout", p("srv.key"),
        "-out", p("srv.csr"), "-subj", "/CN=127.0.0.1")
    with open(p("ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                "extendedKeyUsage=serverAuth\n")
    run("openssl", "x509", "-req", "-in", p("srv.csr"), "-CA", p("ca.pem"),
        "-CAkey", p("ca.key"), "-CAcreateserial", "-out", p("srv.pem"),
        "-days", "2", "-extfile", p("ext"))
    return p("ca.pem"), p("srv.pem"), p("srv.key")


class _Git(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        self._cgi()

    def do_POST(self):
        self._cgi()

    def _body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                n = int(self.rfile.readline().split(b";")[0], 16)
                if n == 0:
                    self.rfile.readline()
                    return out
                out += self.rfile.read(n)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _cgi(self):
        srv = self.server
        body = self._body() if self.command == "POST" else b""
        auth = self.headers.get("Authorization", "")
        want = "Basic " + base64.b64encode(
            ("%s:%s" % (srv.user, srv.token)).encode()).decode()
        srv.seen.append((self.command, self.path, auth != ""))
        if auth != want:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="fleet"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        path, _, query = self.path.partition("?")
        env = {"GIT_PROJECT_ROOT": srv.root, "GIT_HTTP_EXPORT_ALL": "1",
               "PATH_INFO": path, "QUERY_STRING": query,
               "REQUEST_METHOD": self.command, "REMOTE_USER": srv.user,
               "REMOTE_ADDR": "127.0.0.1",
               "CONTENT_TYPE": self.headers.get("Content-Type", ""),
               "CONTENT_LENGTH": str(len(body)),
               "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        for h in ("Content-Encoding", "Git-Protocol"):
            if self.headers.get(h):
                env["HTTP_" + h.upper().replace("-", "_")] = self.headers[h]
        r = subprocess.run([BACKEND], input=body, env=env,
                           capture_output=True)
        head, _, out = r.stdout.partition(b"\r\n\r\n")
        if not _:
            head, _, out = r.stdout.partition(b"\n\n")
        status = 200
        headers = []
        for line in head.decode("latin-1").splitlines():
            k, _, v = line.partition(":")
            if k.lower() == "status":
                status = int(v.split()[0])
            elif k:
                headers.append((k, v.strip()))
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


def https_git(t, root, cert, key, user, token):
    """An HTTPS smart-git server for the repositories under root, asking
    for user and token; .url, .seen (requests: method, path, had auth),
    .token may be changed.  Stopped in t's cleanup."""
    if not os.access(BACKEND, os.X_OK):
        skip("no %s (Debian's git)" % BACKEND)
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Git)
    srv.daemon_threads = True
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.root, srv.user, srv.token, srv.seen = root, user, token, []
    srv.url = "https://127.0.0.1:%d" % srv.server_address[1]
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    orig = t.cleanup

    def cleanup():
        try:
            orig()
        finally:
            srv.shutdown()
            srv.server_close()
    t.cleanup = cleanup
    return srv


def keygen(path, kind="ed25519"):
    run("ssh-keygen", "-q", "-t", kind, "-N", "", "-C", "maestro-test", "-f",
        path)
    with open(path + ".pub") as f:
        return f.read().split()[:2]  # [type, base64]


def sshd(t, client_pub):
    """A private sshd on 127.0.0.1 letting the key client_pub (a .pub
    file's text) in as the current user: .port, .hostkey ([type, b64]),
    .user."""
    if os.geteuid() != 0:
        skip("sshd needs root to run as a server (it switches users)")
    if not os.access(SSHD, os.X_OK) or not shutil.which("ssh-keygen"):
        skip("no %s: apt-get install openssh-server (.dev/deps.sh test)"
             % SSHD)
    d = t.mkdir("sshd")
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    hostkey = keygen(os.path.join(d, "host_ed25519"))
    auth = os.path.join(d, "authorized_keys")
    with open(auth, "w") as f:
        f.write(client_pub)
    os.chmod(auth, 0o600)
    port = free_port()
    conf = os.path.join(d, "sshd_config")
    with open(conf, "w") as f:
        f.write("Port %d\nListenAddress 127.0.0.1\nHostKey %s\n"
                "AuthorizedKeysFile %s\nPidFile none\nUsePAM no\n"
                "StrictModes no\nPasswordAuthentication no\n"
                "KbdInteractiveAuthentication no\nPubkeyAuthentication yes\n"
                "PermitRootLogin prohibit-password\nLogLevel VERBOSE\n"
                % (port, os.path.join(d, "host_ed25519"), auth))
    p = Proc(t, "sshd", [SSHD, "-D", "-e", "-f", conf])
    wait_until(lambda: "listening on" in p.stderr_text().lower() or
               not p.alive(), 10, "sshd to listen")
    check(p.alive(), "sshd exited: %s" % p.stderr_text())
    p.port, p.hostkey = port, hostkey
    p.user = pwd.getpwuid(os.geteuid()).pw_name
    return p
