"""The three learned networks (tokenizer, latent action model, dynamics) and the world model that plays them."""
