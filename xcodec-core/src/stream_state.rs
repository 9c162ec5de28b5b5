//! State carried between the calls of a stream: opaque per part ([`StreamState`]), and per codec
//! ([`CodecStream`]: the encoder's and the decoder's).

use crate::error::{Result, XcodecError};
use std::any::Any;
use std::fmt::Debug;

/// What a streaming part keeps between chunks (its own type, behind [`StreamState`]).
pub trait StreamCarry: Any + Send + Debug {
    /// Tensor values held, so that callers can check the state stays bounded however long the stream runs.
    fn carried_values(&self) -> usize;
}

/// The opaque state of one part's stream. Start each stream with `StreamState::default()`; the part fills it
/// on the first chunk. One state belongs to one part and one stream.
#[derive(Debug, Default)]
pub struct StreamState(Option<Box<dyn StreamCarry>>);

impl StreamState {
    /// The part's state of type `T`, created on first use; an error if the state holds another part's type.
    pub fn get_or_default<T: StreamCarry + Default>(&mut self) -> Result<&mut T> {
        let carry: &mut dyn Any = self.0.get_or_insert_with(|| Box::new(T::default())).as_mut();
        carry.downcast_mut::<T>().ok_or_else(|| {
            XcodecError::Input(
                "this stream state belongs to another part; give each encoder and decoder its own".into(),
            )
        })
    }

    /// Whether a chunk has been streamed through it.
    pub fn is_started(&self) -> bool {
        self.0.is_some()
    }

    /// Tensor values held (0 before the first chunk).
    pub fn carried_values(&self) -> usize {
        self.0.as_ref().map_or(0, |c| c.carried_values())
    }
}

/// The state of a codec stream: the acoustic encoder's (for [`crate::XCodec::encode_step`]) and the acoustic
/// decoder's (for [`crate::XCodec::decode_step`]), independent of each other. Start with `CodecStream::default()`.
#[derive(Debug, Default)]
pub struct CodecStream {
    /// The acoustic encoder's state.
    pub encoder: StreamState,
    /// The acoustic decoder's state.
    pub decoder: StreamState,
    /// Frames encoded so far.
    pub frames_encoded: u64,
    /// Frames decoded so far.
    pub frames_decoded: u64,
}

impl CodecStream {
    /// Tensor values held by both states.
    pub fn carried_values(&self) -> usize {
        self.encoder.carried_values() + self.decoder.carried_values()
    }
}
