"""LoRaWAN network servers behind the FUOTA engine's NetworkServer interface (services/lorawan_network.py)."""
