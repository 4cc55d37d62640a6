pub mod profile;
pub mod sim;
