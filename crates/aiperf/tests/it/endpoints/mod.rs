//! One file per endpoint type: its requests and answers end to end, on the simulator and
//! against hand-written servers that answer badly.

mod audio_transcription;
mod chat_embeddings;
mod every_type;
mod huggingface_generate;
mod image_edit;
mod image_generation;
mod image_retrieval;
mod messages;
mod nim_embeddings;
mod rankings;
mod raw;
mod responses;
mod solido_rag;
mod support;
mod template;
mod unsendable;
mod video_generation;
