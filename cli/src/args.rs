//! Value parsers for numeric options: a value a run cannot use (zero windows, NaN seconds, batches of 0)
//! is refused at parse time with one line naming the flag, instead of running slowly or silently as another.

/// A finite number > 0 (seconds, kbps).
pub fn positive(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("'{s}' is not a finite number > 0")),
    }
}

/// A finite number >= 0 (context seconds).
pub fn non_negative(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("'{s}' is not a finite number >= 0")),
    }
}

/// A finite `f32` (gains).
pub fn finite_f32(s: &str) -> Result<f32, String> {
    match s.trim().parse::<f32>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(format!("'{s}' is not a finite number")),
    }
}

/// A whole number >= 1 (batch sizes, workers, rows, frames).
pub fn at_least_one(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(v) if v >= 1 => Ok(v),
        _ => Err(format!("'{s}' is not a whole number >= 1")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_cannot_run() {
        for bad in ["0", "-1", "nan", "inf", "x", ""] {
            assert!(positive(bad).is_err(), "{bad}");
        }
        assert_eq!(positive("0.5"), Ok(0.5));
        assert_eq!(non_negative("0"), Ok(0.0));
        assert!(non_negative("-0.1").is_err() && non_negative("NaN").is_err());
        assert!(finite_f32("inf").is_err() && finite_f32("1e39").is_err());
        assert!(at_least_one("0").is_err() && at_least_one("-3").is_err());
        assert_eq!(at_least_one("4"), Ok(4));
    }
}
