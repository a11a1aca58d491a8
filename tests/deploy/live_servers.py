"""Real servers for the deployment tests: free ports, `effleura` and gunicorn processes
that are waited for (polling, never a fixed sleep) and always stopped, and a small HTTP
client that keeps its cookies itself, so a test says which server a session cookie goes to.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookies import SimpleCookie
from pathlib import Path

EFFLEURA = str(Path(sys.executable).with_name("effleura"))
START_SECONDS = 300  # a loaded machine; every wait ends as soon as its condition holds


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def clean_environment(var_dir: Path, **environ: str) -> dict[str, str]:
    """This process's environment without any EFFLEURA_* of the caller, plus ``environ``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("EFFLEURA_")}
    env.update(EFFLEURA_VAR_DIR=str(var_dir), DJANGO_SETTINGS_MODULE="effleura.settings", **environ)
    return env


def effleura(env: dict[str, str], *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    """Run one `effleura` command to its end; fail the test with its output if it fails."""
    result = subprocess.run([EFFLEURA, *args], env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"effleura {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


def wait_until(condition, what: str, seconds: float = START_SECONDS, processes=()) -> None:
    """Poll ``condition`` until it holds; fail early when one of ``processes`` exits."""
    deadline = time.monotonic() + seconds
    while not condition():
        for process in processes:
            if process.poll() is not None:
                raise AssertionError(f"{what}: a process exited with {process.returncode} first")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def stop(process: subprocess.Popen | None) -> None:
    """SIGTERM, then SIGKILL if it does not end; safe to call on a stopped process."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=30)


def start_gunicorn(env, port: int, log_file, *, workers: int = 2, threads: int = 1) -> subprocess.Popen:
    """gunicorn serving Effleura on 127.0.0.1:``port``. Several on one machine: each
    without gunicorn's control socket, which is one path per account by default."""
    command = [sys.executable, "-m", "gunicorn", "effleura.wsgi:application", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", str(workers), "--threads", str(threads), "--timeout", "120", "--no-control-socket"]
    command += ["--access-logfile", "-"]  # request lines: these tests send no query strings
    return subprocess.Popen(command, env=env, stdout=log_file, stderr=subprocess.STDOUT)


def start_worker(env, worker_id: str, log_file) -> subprocess.Popen:
    command = [EFFLEURA, "worker", "--no-startup-delay", "--interval", "0.2", "--worker-id", worker_id]
    return subprocess.Popen(command, env=env, stdout=log_file, stderr=subprocess.STDOUT)


def healthy(base: str) -> bool:
    try:
        with urllib.request.urlopen(base + "/healthz", timeout=5) as answer:  # noqa: S310 (our 127.0.0.1)
            return answer.status == 200
    except OSError:  # not listening yet, or 503
        return False


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 302 comes back as the answer, to be looked at


class Browser:
    """Cookies kept by hand (name -> value) and sent to whichever server is asked."""

    def __init__(self) -> None:
        self.cookies: dict[str, str] = {}
        self._opener = urllib.request.build_opener(_NoRedirects)

    def request(self, url: str, form: dict | None = None) -> tuple[int, dict, str]:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        request = urllib.request.Request(url, data=data)  # noqa: S310 (our 127.0.0.1)
        if self.cookies:
            request.add_header("Cookie", "; ".join(f"{name}={value}" for name, value in self.cookies.items()))
        try:
            answer = self._opener.open(request, timeout=60)
        except urllib.error.HTTPError as error:
            answer = error
        with answer:
            for header in answer.headers.get_all("Set-Cookie") or []:
                cookie = SimpleCookie()
                cookie.load(header)
                self.cookies.update({name: morsel.value for name, morsel in cookie.items()})
            return answer.status, dict(answer.headers), answer.read().decode()

    def sign_in(self, base: str, username: str, password: str) -> None:
        status, _, page = self.request(base + "/login/")
        assert status == 200, status
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        form = {"csrfmiddlewaretoken": token, "username": username, "password": password, "next": "/"}
        status, headers, _ = self.request(base + "/login/", form)
        assert (status, headers.get("Location")) == (302, "/"), (status, headers)


def api_post(url: str, token: str, body: dict) -> tuple[int, dict]:
    """POST ``body`` as JSON with an API token: (status, JSON answer)."""
    request = urllib.request.Request(  # noqa: S310 (our 127.0.0.1)
        url,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        answer = urllib.request.urlopen(request, timeout=120)  # noqa: S310
    except urllib.error.HTTPError as error:
        answer = error
    with answer:
        return answer.status, json.loads(answer.read() or b"{}")


def start_pgbouncer(cluster_host: str, cluster_port: int, user: str, port: int) -> tuple[subprocess.Popen, Path]:
    """PgBouncer in transaction mode on 127.0.0.1:``port``, in front of the PostgreSQL at
    ``cluster_host`` (a socket folder) for every database, letting ``user`` in without a
    password (the test cluster trusts it too). As root it runs as `postgres`, as
    PostgreSQL does (PgBouncer refuses root). Returns the process and its folder."""
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="effleura-pgbouncer-", dir="/tmp"))
    (folder / "users.txt").write_text(f'"{user}" ""\n')
    (folder / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"* = host={cluster_host} port={cluster_port}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {folder / 'users.txt'}\n"
        "pool_mode = transaction\nmax_client_conn = 200\ndefault_pool_size = 10\n"
        f"logfile = {folder / 'pgbouncer.log'}\n"
    )
    prefix: list[str] = []
    if os.geteuid() == 0:
        for path in (folder, folder / "users.txt", folder / "pgbouncer.ini"):
            shutil.chown(path, user="postgres", group="postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    folder.chmod(0o755)
    process = subprocess.Popen(
        [*prefix, shutil.which("pgbouncer") or "pgbouncer", str(folder / "pgbouncer.ini")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    return process, folder


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        return False
    return True
