//! A pseudo-terminal driver for the tests of what a command does on a terminal (the live
//! monitor view, the update prompt).

use std::process::Command;

use serde_json::Value;

use crate::{emulator, repo_root, workspace_binary};

/// [`under_pty`] for the `deployer` binary with `args`, pointed at the test emulator with
/// dummy credentials.
pub fn deployer_under_pty(args: &[&str], expect: &[&str], input: &[u8]) -> Value {
    let binary = workspace_binary("cfrp-deployer", "deployer");
    let mut command = vec![binary.to_string_lossy().into_owned()];
    command.extend(args.iter().map(|a| a.to_string()));
    let endpoint = emulator().endpoint.clone();
    let env = [
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
    ];
    under_pty(&command, &env, expect, input)
}

/// Runs `command` under a pseudo-terminal (python's `pty`, from the emulator's virtualenv):
/// waits up to 60 s for output holding every `expect`, types `input` (Ctrl-C is `b"\x03"`,
/// an answer `b"y\n"`), and reports the exit code and the seconds from the input to exit (up
/// to 10 s), with everything the terminal received. The process is killed if it has not
/// exited by then, so a test never hangs on it.
pub fn under_pty(command: &[String], env: &[(&str, &str)], expect: &[&str], input: &[u8]) -> Value {
    const DRIVER: &str = r#"
import fcntl, json, os, pty, select, struct, sys, termios, time
sep = sys.argv.index("--")
typed = bytes.fromhex(sys.argv[1])
expect, command = sys.argv[2:sep], sys.argv[sep + 1:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(command[0], command)
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
out = b""
def pump(seconds):
    global out
    ready, _, _ = select.select([fd], [], [], seconds)
    if not ready:
        return True
    try:
        chunk = os.read(fd, 65536)
    except OSError:
        return False
    out += chunk
    return bool(chunk)
found, deadline = False, time.time() + 60
while time.time() < deadline and not found:
    if not pump(0.2):
        break
    found = all(e in out.decode("utf-8", "replace") for e in expect)
code, seconds = None, None
if found:
    os.write(fd, typed)
    sent, deadline = time.time(), time.time() + 10
    while time.time() < deadline and pump(0.1):
        pass
    while time.time() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            code, seconds = os.waitstatus_to_exitcode(status), time.time() - sent
            break
        time.sleep(0.05)
if code is None:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
print(json.dumps({"found": found, "code": code, "seconds": seconds,
                  "output": out.decode("utf-8", "replace")}))
"#;
    let python = repo_root().join(".venv/bin/python");
    let mut cmd = Command::new(python);
    let typed: String = input.iter().map(|b| format!("{b:02x}")).collect();
    cmd.arg("-c")
        .arg(DRIVER)
        .arg(typed)
        .args(expect)
        .arg("--")
        .args(command);
    cmd.env_remove("NO_COLOR").env_remove("AWS_PROFILE");
    cmd.env_remove("CFRP_CONFIG").env("TERM", "xterm-256color");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let output = cmd
        .output()
        .unwrap_or_else(|e| panic!("starting the pty driver (run scripts/setup): {e}"));
    assert!(
        output.status.success(),
        "pty driver: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("the pty driver's report is not JSON: {e}"))
}
