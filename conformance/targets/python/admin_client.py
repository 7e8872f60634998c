# The "advanced" TCP chat tutorial's client (admin role), transcribed from the wire students write
# (spec/PROTOCOL.md §14.2) on top of seed 004's Client.py, as the `Hii` variant was derived from seed
# 003's prose. Every wire behaviour and every bug of the tutorial is kept on purpose: this is a
# conformance target, not a fixed client. Known defects: D-NC-* and D-AC-* (spec Annex A.6).
import socket
import threading
import sys  # chatkit: host/port override

HOST, PORT = '127.0.0.1', 55555  # chatkit: host/port override
if len(sys.argv) > 1: HOST = sys.argv[1]  # chatkit: host/port override
if len(sys.argv) > 2: PORT = int(sys.argv[2])  # chatkit: host/port override

# Choosing Nickname
nickname = input("Choose your nickname: ")
if nickname == 'admin':
    password = input("Enter password for admin: ")

# Connecting To Server
client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
client.connect((HOST, PORT))  # chatkit: host/port override (tutorial: ('127.0.0.1', 55555))

stop_thread = False

# Listening to Server and Sending Nickname
def receive():
    while True:
        global stop_thread
        if stop_thread:
            break
        try:
            # Receive Message From Server
            # If 'NICK' Send Nickname
            message = client.recv(1024).decode('ascii')
            if message == 'NICK':
                client.send(nickname.encode('ascii'))
                next_message = client.recv(1024).decode('ascii')
                if next_message == 'PASS':
                    client.send(password.encode('ascii'))
                    if client.recv(1024).decode('ascii') == 'REFUSE':
                        print("Connection was refused! Wrong password!")
                        stop_thread = True
                elif next_message == 'BAN':
                    print('Connection refused because of ban!')
                    client.close()
                    stop_thread = True
            else:
                print(message)
        except:
            # Close Connection When Error
            print("An error occured!")
            client.close()
            break

# Sending Messages To Server
def write():
    while True:
        if stop_thread:
            break
        message = f'{nickname}: {input("")}'
        if message[len(nickname) + 2:].startswith('/'):
            if nickname == 'admin':
                if message[len(nickname) + 2:].startswith('/kick'):
                    client.send(f'KICK {message[len(nickname) + 2 + 6:]}'.encode('ascii'))
                elif message[len(nickname) + 2:].startswith('/ban'):
                    client.send(f'BAN {message[len(nickname) + 2 + 5:]}'.encode('ascii'))
            else:
                print("Commands can only be executed by the admin!")
        else:
            client.send(message.encode('ascii'))

# Starting Threads For Listening And Writing
receive_thread = threading.Thread(target=receive)
receive_thread.start()
write_thread = threading.Thread(target=write)
write_thread.start()
