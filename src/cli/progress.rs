//! Progress on stderr for long work, shown only on a terminal and never in `--quiet` mode.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Models smaller than this hash too fast for a bar to help.
const MIN_BYTES_FOR_BAR: u64 = 256 * 1024 * 1024;

/// A byte-progress bar, hidden off-terminal.
pub fn bytes_bar(total: u64, quiet: bool, message: &str) -> ProgressBar {
    if quiet || total < MIN_BYTES_FOR_BAR || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{msg} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(message.to_owned());
    bar
}
