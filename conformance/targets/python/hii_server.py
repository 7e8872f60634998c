# Seed 003 variant ("Hii" prompt, port 11826) of seed 004's Server.py. Seed 003 gives this program only in
# prose; the code is seed 004's with the prompt token 'Hii' and port 11826, nothing else changed. OCR fixes
# as in nick_server.py; every wire behaviour and every bug is kept on purpose (conformance target).
# See README.md in this directory for the known defects (D-NS-*, shared with nick_server.py).
import socket
import threading
import sys  # chatkit: host/port override

# Connection Data
host = '127.0.0.1'
port = 11826
if len(sys.argv) > 1: host = sys.argv[1]  # chatkit: host/port override
if len(sys.argv) > 2: port = int(sys.argv[2])  # chatkit: host/port override

# Starting Server
server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.bind((host, port))
server.listen()
print("\33[32m \tSERVER WORKING \33[0m")

# Lists For Clients and Their Nicknames
clients = []
nicknames = []

# Sending Messages To All Connected Clients
def broadcast(message):
    for client in clients:
        client.send(message)

# Handling Messages From Clients
def handle(client):
    while True:
        try:
            # Broadcasting Messages
            message = client.recv(1024)
            broadcast(message)
        except:
            # Removing And Closing Clients
            index = clients.index(client)
            clients.remove(client)
            client.close()
            nickname = nicknames[index]
            broadcast('{} left!'.format(nickname).encode('ascii'))
            nicknames.remove(nickname)
            break

# Receiving / Listening Function
def receive():
    while True:
        # Accept Connection
        client, address = server.accept()
        print("Connected with {}".format(str(address)))

        # Request And Store Nickname
        client.send('Hii'.encode('ascii'))
        nickname = client.recv(1024).decode('ascii')
        nicknames.append(nickname)
        clients.append(client)

        # Print And Broadcast Nickname
        print("Nickname is {}".format(nickname))
        broadcast("{} joined!".format(nickname).encode('ascii'))
        client.send('Connected to server!'.encode('ascii'))

        # Start Handling Thread For Client
        thread = threading.Thread(target=handle, args=(client,))
        thread.start()

receive()
