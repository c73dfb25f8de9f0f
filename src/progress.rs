//! A progress bar on standard error, drawn only when it is a terminal, for long reads.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use modelgate_core::table::Progress;

/// Work shorter than this shows no bar at all.
const SHOW_AFTER: Duration = Duration::from_millis(300);
const REDRAW_EVERY: Duration = Duration::from_millis(100);
const WIDTH: usize = 30;

/// Draws `progress` until dropped, then clears the line.
pub struct Bar {
    stop: Arc<AtomicBool>,
    drawer: Option<JoinHandle<()>>,
}

impl Bar {
    /// A bar labelled `label`, or `None` when standard error is not a terminal (no bar; the
    /// work is not counted).
    pub fn start(label: &str) -> (Option<Arc<Progress>>, Bar) {
        let stop = Arc::new(AtomicBool::new(false));
        if !std::io::stderr().is_terminal() {
            return (None, Bar { stop, drawer: None });
        }
        let progress = Arc::new(Progress::default());
        let (shared, stopping, label) =
            (Arc::clone(&progress), Arc::clone(&stop), label.to_owned());
        let drawer = std::thread::spawn(move || {
            let started = Instant::now();
            let mut drawn = false;
            while !stopping.load(Ordering::Relaxed) {
                std::thread::sleep(REDRAW_EVERY);
                if started.elapsed() >= SHOW_AFTER && shared.total() > 0 {
                    draw(&label, shared.done(), shared.total(), started.elapsed());
                    drawn = true;
                }
            }
            if drawn {
                let mut err = std::io::stderr().lock();
                let _ = write!(err, "\r\x1b[2K");
                let _ = err.flush();
            }
        });
        (
            Some(progress),
            Bar {
                stop,
                drawer: Some(drawer),
            },
        )
    }
}

fn draw(label: &str, done: u64, total: u64, elapsed: Duration) {
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "\r\x1b[2K{}", line(label, done, total, elapsed));
    let _ = err.flush();
}

/// `reading [#######-------]  50%  0.8s`. A share, not a count: each group of columns reads
/// every row again, so a row count would exceed the file's.
fn line(label: &str, done: u64, total: u64, elapsed: Duration) -> String {
    let share = (done as f64 / total.max(1) as f64).clamp(0.0, 1.0);
    let filled = (share * WIDTH as f64).round() as usize;
    format!(
        "{label} [{}{}] {:>3.0}%  {:.1}s",
        "#".repeat(filled),
        "-".repeat(WIDTH - filled),
        share * 100.0,
        elapsed.as_secs_f64()
    )
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(drawer) = self.drawer.take() {
            let _ = drawer.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_fills_with_the_share_done() {
        let half = line("reading", 50, 100, Duration::from_millis(1500));
        assert_eq!(
            half,
            format!("reading [{}{}]  50%  1.5s", "#".repeat(15), "-".repeat(15))
        );
        // More done than announced (a count that grew) never overflows the bar.
        assert!(
            line("reading", 120, 100, Duration::ZERO)
                .contains(&format!("[{}] 100%", "#".repeat(30)))
        );
    }
}
