//! Window arithmetic for long files: windows of `window` frames, each computed from its audio plus
//! `context` frames on either side, so that every frame is computed away from a window border.

/// Frame ranges of the windows over `frames` frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Windows {
    /// Frames each window keeps.
    pub window: usize,
    /// Extra frames computed on each side and thrown away.
    pub context: usize,
    /// Frames in the whole file.
    pub frames: usize,
}

/// One window: frames kept `[keep_start, keep_end)`, computed from frames `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// First frame computed.
    pub from: usize,
    /// One past the last frame computed.
    pub to: usize,
    /// First frame kept.
    pub keep_start: usize,
    /// One past the last frame kept.
    pub keep_end: usize,
}

impl Windows {
    /// `(window, context)` in frames at `frame_rate` Hz from seconds; refuses a window that is not a finite
    /// number of seconds > 0 (a window of 0 frames would run frame by frame, ~50x slower) and a context that
    /// is not finite and >= 0, naming the flag.
    pub fn frames_of(window_seconds: f64, context_seconds: f64, frame_rate: f64) -> crate::Result<(usize, usize)> {
        if !(window_seconds.is_finite() && window_seconds > 0.0) {
            return Err(crate::XcodecError::Input(format!(
                "--window-seconds {window_seconds}: expected a finite number of seconds > 0 (default 30)"
            )));
        }
        if !(context_seconds.is_finite() && context_seconds >= 0.0) {
            return Err(crate::XcodecError::Input(format!(
                "--context-seconds {context_seconds}: expected a finite number of seconds >= 0 (default 2)"
            )));
        }
        Ok((((window_seconds * frame_rate) as usize).max(1), (context_seconds * frame_rate) as usize))
    }

    /// The windows, in order; one window covering everything when the file fits in `window + 2 context`.
    pub fn iter(&self) -> impl Iterator<Item = Window> + '_ {
        let single = self.frames <= self.window + 2 * self.context;
        let step = if single { self.frames.max(1) } else { self.window };
        (0..self.frames).step_by(step).map(move |start| {
            let end = (start + step).min(self.frames);
            Window {
                from: start.saturating_sub(self.context),
                to: (end + self.context).min(self.frames),
                keep_start: start,
                keep_end: end,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_that_cannot_run_are_refused() {
        for (w, c) in [(0.0, 2.0), (-1.0, 2.0), (f64::NAN, 2.0), (f64::INFINITY, 2.0), (30.0, -1.0), (30.0, f64::NAN)] {
            let err = Windows::frames_of(w, c, 50.0).unwrap_err().to_string();
            assert!(err.contains("-seconds"), "{err}");
        }
        assert_eq!(Windows::frames_of(30.0, 2.0, 50.0).unwrap(), (1500, 100));
    }

    #[test]
    fn windows_tile_the_file_with_context() {
        let w = Windows { window: 10, context: 3, frames: 34 };
        let got: Vec<_> = w.iter().map(|x| (x.from, x.to, x.keep_start, x.keep_end)).collect();
        assert_eq!(got, [(0, 13, 0, 10), (7, 23, 10, 20), (17, 33, 20, 30), (27, 34, 30, 34)]);
        let short = Windows { window: 10, context: 3, frames: 16 };
        assert_eq!(short.iter().count(), 1);
        let kept: usize =
            Windows { window: 7, context: 2, frames: 100 }.iter().map(|x| x.keep_end - x.keep_start).sum();
        assert_eq!(kept, 100);
    }
}
