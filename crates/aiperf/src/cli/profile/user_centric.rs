//! User-centric rate: simulated users, each sending its conversation's turns one gap apart.

use clap::Args;

use super::list_count;

#[derive(Debug, Args)]
#[command(next_help_heading = "User-Centric Rate")]
pub struct UserCentricArgs {
    /// Requests per second shared by --num-users users: each user sends its next turn one
    /// gap (users / rate seconds) after its previous one, and never before that one's
    /// answer; users start staggered as if the run were already in steady state, and new
    /// users join on a fixed schedule as others finish. Needs multi-turn conversations.
    #[arg(long, value_name = "QPS")]
    pub user_centric_rate: Option<f64>,

    /// Users of --user-centric-rate.
    #[arg(long, value_delimiter = ',', value_parser = list_count::<u32>, action = clap::ArgAction::Set)]
    pub num_users: Vec<u32>,
}
