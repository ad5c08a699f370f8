//! What the services cost, read from `/proc`: memory and CPU time of a
//! process, of this one and its children, and of the whole machine. The
//! processes themselves are started and stopped by `testkit`.

use std::process::Command;

/// Resident set now and at its peak, in KiB (`VmRSS`, `VmHWM` of `/proc/<pid>/status`), and the
/// private part of the resident set (`RssAnon`): the rest is file pages, mostly the binary's own
/// code and read-only data, shared with the page cache.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Memory {
    pub rss_kib: u64,
    pub hwm_kib: u64,
    /// Zero in results recorded before it was.
    #[serde(default)]
    pub anon_kib: u64,
}

pub fn parse_status_memory(status: &str) -> Option<Memory> {
    let field = |name: &str| {
        status.lines().find_map(|line| {
            let rest = line.strip_prefix(name)?.strip_prefix(':')?;
            rest.trim().strip_suffix("kB")?.trim().parse::<u64>().ok()
        })
    };
    Some(Memory {
        rss_kib: field("VmRSS")?,
        hwm_kib: field("VmHWM")?,
        anon_kib: field("RssAnon")?,
    })
}

pub fn memory(pid: u32) -> Option<Memory> {
    parse_status_memory(&std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?)
}

/// User + system CPU time in clock ticks (fields 14 and 15 of `/proc/<pid>/stat`, all threads).
pub fn parse_stat_cpu_ticks(stat: &str) -> Option<u64> {
    // The command name (field 2) may hold spaces and parentheses: fields start after the last ')'.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // after_name starts at field 3 (state), so utime (14) is index 11 and stime (15) index 12.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

pub fn cpu_ticks(pid: u32) -> Option<u64> {
    parse_stat_cpu_ticks(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

pub fn own_cpu_ticks() -> Option<u64> {
    parse_stat_cpu_ticks(&std::fs::read_to_string("/proc/self/stat").ok()?)
}

/// CPU time of this process's waited-for children (fields 16 and 17: cutime + cstime), in ticks.
pub fn children_cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
    Some(fields.get(13)?.parse::<u64>().ok()? + fields.get(14)?.parse::<u64>().ok()?)
}

/// The whole machine's CPU time from the first line of `/proc/stat`, in ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MachineTicks {
    /// Everything but idle and iowait (steal included).
    pub busy: u64,
    pub total: u64,
    /// Time the hypervisor ran something else while a vCPU wanted to run.
    pub steal: u64,
}

pub fn parse_proc_stat(text: &str) -> Option<MachineTicks> {
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    let total: u64 = v.iter().take(8).sum();
    let idle = v.get(3)? + v.get(4)?;
    Some(MachineTicks {
        busy: total - idle,
        total,
        steal: *v.get(7)?,
    })
}

pub fn machine_ticks() -> Option<MachineTicks> {
    parse_proc_stat(&std::fs::read_to_string("/proc/stat").ok()?)
}

/// Clock ticks per second for `/proc/<pid>/stat` (`getconf CLK_TCK`; 100 on Linux in practice).
pub fn clock_ticks_per_second() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(100)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn memory_comes_from_vmrss_and_vmhwm() {
        let status = "Name:\tgateway\nVmPeak:\t  100 kB\nVmHWM:\t   9000 kB\nVmRSS:\t   8123 kB\nRssAnon:\t    2048 kB\nRssFile:\t    6075 kB\nThreads:\t4\n";
        assert_eq!(
            parse_status_memory(status),
            Some(Memory {
                rss_kib: 8123,
                hwm_kib: 9000,
                anon_kib: 2048,
            })
        );
        assert_eq!(parse_status_memory("Name:\tx\n"), None);
        let own = memory(std::process::id()).expect("this process has a /proc entry");
        assert!(own.rss_kib > 0 && own.hwm_kib >= own.rss_kib, "{own:?}");
    }

    #[test]
    fn cpu_ticks_skip_a_command_name_with_spaces_and_parentheses() {
        let stat = "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 567 0 0 20 0 4 0 100 1000 200";
        assert_eq!(parse_stat_cpu_ticks(stat), Some(1234 + 567));
        assert_eq!(parse_stat_cpu_ticks("garbage"), None);
        // Burn some CPU and see it counted.
        let before = own_cpu_ticks().unwrap();
        let started = Instant::now();
        let mut x = 0u64;
        while started.elapsed() < Duration::from_millis(100) {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        std::hint::black_box(x);
        assert!(own_cpu_ticks().unwrap() > before);
    }

    #[test]
    fn machine_ticks_add_up_busy_idle_and_steal() {
        let stat = "cpu  100 5 20 1000 10 0 3 7 0 0\ncpu0 50 2 10 500 5 0 1 3 0 0\n";
        assert_eq!(
            parse_proc_stat(stat),
            Some(MachineTicks {
                busy: 100 + 5 + 20 + 3 + 7,
                total: 1145,
                steal: 7
            })
        );
        assert_eq!(parse_proc_stat("intr 1 2 3"), None);
        assert!(machine_ticks().is_some_and(|t| t.total > t.busy));
        assert!(children_cpu_ticks().is_some());
    }
}
