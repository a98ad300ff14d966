"""Model components: Bitcoin network, markets, ASIC fleet and the site that wires them."""
