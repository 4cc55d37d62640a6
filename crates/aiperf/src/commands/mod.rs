pub mod profile;
pub mod recipes;
pub mod sim;
