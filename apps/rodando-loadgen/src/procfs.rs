//! Server (and own) resource usage from `/proc`: resident memory and CPU time.

use std::time::Duration;

/// Clock ticks per second of `utime`/`stime` in `/proc/<pid>/stat` (`getconf CLK_TCK`; 100 on
/// every Linux this runs on).
pub const CLK_TCK: f64 = 100.0;

/// The number that follows `prefix` on the first line starting with it (a `/proc` text's field).
fn first_number_after(text: &str, prefix: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix(prefix))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|number| number.parse().ok())
}

/// `VmRSS` of a `/proc/<pid>/status` text, in KiB.
pub fn parse_vm_rss_kb(status: &str) -> Option<u64> {
    first_number_after(status, "VmRSS:")
}

/// `utime + stime` (clock ticks) of a `/proc/<pid>/stat` text. The command name (field 2) may
/// hold spaces and parentheses, so fields are counted after its last `)`.
pub fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let after_comm = &stat[stat.rfind(')')? + 1..];
    // Field 3 (state) is the first after the name; utime is field 14, stime field 15.
    let mut fields = after_comm.split_whitespace().skip(14 - 3);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// CPU use in percent of one core between two `utime + stime` readings taken `wall` apart.
pub fn cpu_percent(ticks_before: u64, ticks_after: u64, wall: Duration) -> Option<f64> {
    let wall = wall.as_secs_f64();
    if wall <= 0.0 || ticks_after < ticks_before {
        return None;
    }
    #[allow(clippy::cast_precision_loss)]
    let cpu_secs = (ticks_after - ticks_before) as f64 / CLK_TCK;
    Some(cpu_secs / wall * 100.0)
}

/// The soft `Max open files` of a `/proc/<pid>/limits` text (`None` if missing or unlimited).
pub fn parse_open_files_limit(limits: &str) -> Option<u64> {
    first_number_after(limits, "Max open files")
}

/// This process' soft limit on open files: every socket is one.
pub fn open_files_limit() -> Option<u64> {
    parse_open_files_limit(&std::fs::read_to_string("/proc/self/limits").ok()?)
}

/// Where a process is described: `/proc/<pid>` or `/proc/self`.
fn proc_dir(pid: Option<u32>) -> String {
    pid.map_or_else(|| "/proc/self".to_owned(), |pid| format!("/proc/{pid}"))
}

/// Resident memory of `pid` (this process when `None`) in KiB, `None` if unreadable.
pub fn read_rss_kb(pid: Option<u32>) -> Option<u64> {
    let text = std::fs::read_to_string(format!("{}/status", proc_dir(pid))).ok()?;
    parse_vm_rss_kb(&text)
}

/// `utime + stime` of `pid` (this process when `None`), `None` if unreadable.
pub fn read_cpu_ticks(pid: Option<u32>) -> Option<u64> {
    let text = std::fs::read_to_string(format!("{}/stat", proc_dir(pid))).ok()?;
    parse_cpu_ticks(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = "Name:\trodando-server\nUmask:\t0022\nState:\tS (sleeping)\n\
        Tgid:\t4242\nPid:\t4242\nVmPeak:\t  912340 kB\nVmSize:\t  911000 kB\nVmHWM:\t   70120 kB\n\
        VmRSS:\t   65432 kB\nRssAnon:\t   50000 kB\nThreads:\t3\n";

    #[test]
    fn vm_rss_is_read_in_kb() {
        assert_eq!(parse_vm_rss_kb(STATUS), Some(65_432));
        assert_eq!(parse_vm_rss_kb("Name:\tx\nVmHWM:\t 1 kB\n"), None);
        // Kernel threads have no VmRSS line at all.
        assert_eq!(parse_vm_rss_kb(""), None);
    }

    #[test]
    fn cpu_ticks_skip_a_command_name_with_spaces_and_parens() {
        // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
        let stat = "4242 (rodando) (srv x) S 1 4242 4242 0 -1 4194560 1234 0 0 0 1500 250 0 0 20 0 3 0 100 911000000 16358 18446744073709551615";
        assert_eq!(parse_cpu_ticks(stat), Some(1750));
        let plain = "1 (init) S 0 1 1 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 1 0 5 0 0";
        assert_eq!(parse_cpu_ticks(plain), Some(10));
        assert_eq!(parse_cpu_ticks("garbage"), None);
        assert_eq!(parse_cpu_ticks("1 (x) S 0 1"), None);
    }

    #[test]
    fn cpu_percent_is_of_one_core() {
        // 150 ticks = 1.5 s of CPU over 3 s of wall time = 50 %.
        assert_eq!(cpu_percent(1000, 1150, Duration::from_secs(3)), Some(50.0));
        // Two busy cores over 1 s = 200 %.
        assert_eq!(cpu_percent(0, 200, Duration::from_secs(1)), Some(200.0));
        assert_eq!(cpu_percent(10, 5, Duration::from_secs(1)), None);
        assert_eq!(cpu_percent(0, 5, Duration::ZERO), None);
    }

    #[test]
    fn open_files_limit_is_the_soft_one() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
            Max cpu time              unlimited            unlimited            seconds   \n\
            Max open files            20000                65536                files     \n";
        assert_eq!(parse_open_files_limit(limits), Some(20_000));
        let unlimited =
            "Max open files            unlimited            unlimited            files\n";
        assert_eq!(parse_open_files_limit(unlimited), None);
        assert_eq!(parse_open_files_limit(""), None);
        assert!(open_files_limit().is_some_and(|n| n > 0));
    }

    #[test]
    fn own_process_is_readable() {
        assert!(read_rss_kb(None).is_some_and(|kb| kb > 0));
        assert!(read_cpu_ticks(None).is_some());
    }
}
